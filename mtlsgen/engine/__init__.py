"""From spec and disk to files: layout, state, rules, the plan, and apply that only executes it."""
