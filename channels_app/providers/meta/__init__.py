"""What Meta's platforms share: Graph API errors and the webhook handshake and signature."""
