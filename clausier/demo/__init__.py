"""Demo and benchmark data: a realistic Toulouse-like territory, reproducible from a seed.

`clausier demo` builds it once for a development database; `python -m bench generate` builds many
territories of the same size to measure the platform at national scale.

The generator, by domain: `builder` (the entry points `build_demo`, `build_territory`, `delete_territory`, and
`TerritoryBuilder`, whose `build` runs the steps in the order of the draws), `calibration` (what the figures are
pinned to: targets, seed, tracks, market mixes), `partners`, `users`, `people`, `markets`, `procurement`,
`contracts` and `matching` (one mixin of `TerritoryBuilder` each), `plans` (the plan in memory), `reference`
(reference tables, communes, ROME jobs), `helpers` (dates, SIRET), `data` (the embedded tables); after the
build, `addresses` (QPV residence) and `directory` (the SIAE of Haute-Garonne).
"""
