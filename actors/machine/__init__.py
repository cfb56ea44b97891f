"""The symbol state machine's parts; the table that ties them together is
actors/symbol_machine.py.

`core` is the leaf every other module here imports (types and shared helpers, no handlers);
`slot` is the one lifecycle of a resting order (the fixed stop and the native trailing
order); `commands`, `stream`, `replies`, `coverage` and `reconcile` hold the handlers the
table names. Nothing here imports the table, so there is no import circle.
"""
