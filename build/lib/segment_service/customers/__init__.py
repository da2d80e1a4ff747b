"""Customer Service: tenant-managed customer profiles (customer.yml) and the customer's own account (signup, login,
tokens, profile and password: customer-login.yml)."""
