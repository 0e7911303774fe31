"""Pure numpy analytics: counters, cycles, stops, states, shift calendar, OEE. No I/O."""
