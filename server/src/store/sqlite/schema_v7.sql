-- Tokens may expire (`token create --expires 90d`): Unix milliseconds
-- after which the token is refused; NULL (every existing token) never
-- expires.
ALTER TABLE tokens ADD COLUMN expires_at INTEGER;
