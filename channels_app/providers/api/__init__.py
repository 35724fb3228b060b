"""The generic API channel: signed JSON to the integrator's callback URL and back."""
