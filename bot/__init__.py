"""The web side: the parents' chat widget, the helpline triage console and the knowledge-base editor.

One aiohttp application (`bot.app.create_app`). Eligibility and wording come from
`knowledge/` and `conversation.messages`; nothing here decides who is eligible.
"""
