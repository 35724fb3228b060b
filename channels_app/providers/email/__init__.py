"""Email: SMTP out with threading headers, IMAP polling and raw MIME in."""
