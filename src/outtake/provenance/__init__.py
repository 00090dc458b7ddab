"""Pure provenance code: certificates, manifests, policies. No Django imports."""
