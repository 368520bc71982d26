"""A discrete-event model (SimPy) of a topology at scale: N merchants' declines through the
engine's replicas, the vendors' latency and limits, and the outbox. `landscape simulate`.

    spec.py      the topology as a model: decision paths, latency draws, account limits
    workload.py  the decline load: merchant sizes, the day's shape, peaks; merged arrivals
    servers.py   queues and limits computed without events (FCFS heaps, token buckets)
    sim.py       the SimPy processes and the run
    stats.py     percentiles, SLA, write-back lag, vendor pressure, Little's law
    sizing.py    how many replicas and how much vendor quota a merchant base needs
    report.py    terminal and HTML reports
    measure.py   measured decision latency of the process landscape at a fixed rate
    validate.py  calibrate at one rate, compare at others (python -m harness.model.validate)
    against_load.py  the same against `landscape load`'s Locust runs (validate --against load)
"""
