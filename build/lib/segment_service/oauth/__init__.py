"""OAuth Service: API clients and `POST /oauth/token` service tokens."""
