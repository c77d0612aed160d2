"""Many accounts: a model per account, fitted one or several at a time, or on Ray."""
