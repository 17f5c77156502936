"""Rasa custom actions: thin glue between the conversation and the knowledge base."""
