"""Customer Management Service: `/customer-management/{tenant}/legal-entities…` and `…/contact-assignments…`."""
