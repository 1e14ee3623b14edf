"""What happens to findings before they are reported: suppression and the fail level."""
