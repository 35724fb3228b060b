"""The Channels API (`/api/v1/channels`): views, request bodies, filters, schema, routes."""
