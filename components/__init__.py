"""Rasa extensions: NLU components, the REST channel, stores, and a measured speed-up for remote actions.

Rasa imports this package when it loads any of them (config.yml, credentials.yml, endpoints.yml).
"""

from components import rasa_speedups

rasa_speedups.apply()
