"""Facebook Messenger through the Graph API Send API and Meta webhooks."""
