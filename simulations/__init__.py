"""Time-travel simulations over populations (issue 5): scenarios live in scenarios/."""
