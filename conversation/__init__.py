"""Conversation logic that is not Rasa glue: reading a family's details from a message, and
wording the answers. Pure Python on top of `knowledge/`; used by `actions/` (the Rasa action
server) and `bot/` (the staff console's triage), so the web side never imports the action layer.
"""
