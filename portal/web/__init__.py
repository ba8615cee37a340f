"""The customer web pages: accounts, transactions, API tokens, activity."""
