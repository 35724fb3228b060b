"""The channel layer: channels, provider packages and inbound webhook endpoints."""
