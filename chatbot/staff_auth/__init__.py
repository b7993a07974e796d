"""Staff sign-in: throttled passwords, a TOTP second factor, idle expiry, signing out everywhere."""
