"""Pure domain logic: money, pricing, rights terms. No Django imports."""
