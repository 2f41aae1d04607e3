"""`python -m bench <command>`: see bench/README.md."""

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Jeux de données et mesures à l'échelle."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="génère N territoires de la taille de Toulouse Métropole Emploi")
    gen.add_argument("--facilitators", type=int, required=True, help="nombre de territoires (N)")
    gen.add_argument("--first", type=int, default=1, help="numéro du premier territoire (défaut : 1)")
    gen.add_argument(
        "--reset", action="store_true", help="supprime d'abord les territoires bench-* existants"
    )
    sub.add_parser("measure", help="mesure les indicateurs sur les territoires générés")
    lists = sub.add_parser(
        "lists", help="temps serveur de chaque page de liste, pour chaque compte du territoire"
    )
    lists.add_argument(
        "--runs", type=int, default=5, help="requêtes mesurées par page et par compte (défaut : 5)"
    )
    lists.add_argument("--territory", help="slug du territoire (défaut : celui de la démo)")
    lists.add_argument(
        "--create-logins", action="store_true", help="comptes créés pour la mesure, annulés à la fin"
    )
    sub.add_parser(
        "cluster",
        add_help=False,  # its options are its own: `python -m bench cluster --help`
        help="grappe PostgreSQL + réplique, PgBouncer, 2 nœuds web, nginx, 2 workers, sous charge et pannes",
    )
    args, rest = parser.parse_known_args(argv)
    if args.command == "cluster":  # it sets the environment of its database before Django starts
        from bench import cluster

        return cluster.main(rest)
    if rest:
        parser.error(f"arguments inconnus : {' '.join(rest)}")

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    if args.command == "lists":
        from bench import lists

        return lists.main(args.territory, runs=args.runs, create_logins=args.create_logins)
    from bench import generate

    if args.command == "generate":
        return generate.generate(args.facilitators, first=args.first, reset=args.reset)
    return generate.measure()


if __name__ == "__main__":
    sys.exit(main())
