"""The Messages API (`/api/v1/messages`, threads, media), per the Linktor contract."""
