"""Widgets of the Build stage (FINN builds): folding editor, cycles chart, resource gauges, generated settings
form, build steps/log/failure explanations, what's-missing view and the live re-estimator."""
