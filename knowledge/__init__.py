"""The Local Offer knowledge base: services, places, needs, eligibility. No Rasa imports here."""
