"""The email digest of resolutions: subscribe, confirm and one-click unsubscribe pages."""
