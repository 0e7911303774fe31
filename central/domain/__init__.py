"""Planning logic of the central service, as pure functions (no database, web or clock).

Every function takes frozen dataclasses and an explicit ``now``, and returns frozen
dataclasses. Instants are timezone-aware (naive ones are refused); durations are seconds.
Errors: ``central.domain.errors`` (``DomainError`` tree, a ``ValueError``).

Modules, one concept each:
    orders      OpenOrder (the input everywhere), ComponentNeed, status sets
    stock       StockLot, stock_by_item
    calendar    WorkingCalendar / Shift / Break; add_working_seconds, working_seconds_between
    dispatch    dispatch(): ranked and held orders per machine, with the reason of each rank
    throughput  learned cycle times, recent efficiency, effective cycle
    eta         schedule_queues(): ETA of each order; sales_order_etas()
    alerts      late_alerts(), material_shortages() → PurchaseProposal
    plan        build_plan(): all of the above in one call for the scheduler job
"""
