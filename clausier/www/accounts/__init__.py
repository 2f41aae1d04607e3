"""The account pages: login (password, then code), security page, second factor, password reset, the team's
security setting, and the public page of an invitation link. The rules (throttling, sessions, TOTP, invitations)
stay in `clausier.accounts`."""
