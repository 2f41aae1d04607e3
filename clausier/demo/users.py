"""The demo users: their accounts (one per kind of space, one in two organizations) and their logins.

`demo_logins()` and `demo_credentials()` list them (`make run` prints them, the browser tests log in with them);
`UsersMixin` creates them and their memberships when the demo is built with users.
"""

from typing import NamedTuple

from django.contrib.auth.hashers import make_password

from clausier.organizations.models import Membership, Role, User

DEMO_PASSWORD = "demo-clausier-2026"

DEMO_EMAIL_DOMAIN = "tme.demo"

# (role code, role shown to the developer, e-mail local part, first name, last name)
DEMO_USERS = [
    ("facilitator_admin", "Facilitateur — administratrice", "admin", "Claire", "Fabre"),
    ("facilitator_member", "Facilitateur — chargé de mission", "membre", "Karim", "Haddad"),
    ("buyer", "Donneur d'ordre (Ville de Toulouse)", "acheteur", "Julien", "Marty"),
    ("company", "Entreprise attributaire", "entreprise", "Nathalie", "Puech"),
    ("insertion_structure", "Structure d'insertion (ETTI)", "structure", "Sonia", "Mendy"),
    ("prescriber", "Prescripteur (Mission locale Toulouse)", "prescripteur", "Hugo", "Sabatier"),
    ("multi", "Deux organisations (facilitateur + entreprise)", "multi", "Leïla", "Amrani"),
]


class DemoLogin(NamedTuple):
    role: str  # code: facilitator_admin, facilitator_member, buyer, company, insertion_structure, prescriber, multi
    label: str
    email: str
    password: str


def demo_logins() -> list[DemoLogin]:
    """Every demo account (role code, French label, e-mail, password)."""
    return [
        DemoLogin(role, label, f"{local}@{DEMO_EMAIL_DOMAIN}", DEMO_PASSWORD)
        for role, label, local, _, _ in DEMO_USERS
    ]


def demo_credentials() -> list[tuple[str, str, str]]:
    """(role, e-mail, password) of every demo user, for `make run` to print."""
    return [(login.label, login.email, login.password) for login in demo_logins()]


class UsersMixin:
    """The demo accounts and their memberships (`TerritoryBuilder`'s step after the organizations).

    Reads `facilitator`, `buyers`, `companies`, `company_weight`, `structures`, `prescribers`; sets `top_company`
    and `employer_users` (the employers whose statements are submitted by their own account).
    """

    def _users(self) -> dict[str, User]:
        password = make_password(DEMO_PASSWORD)  # hashed once, shared by the demo accounts
        users = {}
        for _, _, local, first, last in DEMO_USERS:
            email = f"{local}@{DEMO_EMAIL_DOMAIN}"
            users[local] = User.objects.create(
                username=email, email=email, first_name=first, last_name=last, password=password
            )
        fac = self.facilitator
        top_company = max(self.companies["works"], key=lambda o: self.company_weight[id(o)])
        mission_locale = next(o for o, cat, _ in self.prescribers if cat == "mission_locale")
        memberships = [
            (users["admin"], fac, Role.ADMIN),
            (users["membre"], fac, Role.MEMBER),
            (users["acheteur"], self.buyers["vdt"], Role.ADMIN),
            (users["entreprise"], top_company, Role.ADMIN),
            (users["structure"], self.structures["etti"][0], Role.ADMIN),
            (users["prescripteur"], mission_locale, Role.MEMBER),
            (users["multi"], fac, Role.MEMBER),
            (users["multi"], top_company, Role.MEMBER),
        ]
        Membership.objects.bulk_create(
            [Membership(user=u, organization=o, role=r) for u, o, r in memberships]
        )
        self.top_company = top_company
        self.employer_users = {
            top_company.pk: users["entreprise"],
            self.structures["etti"][0].pk: users["structure"],
        }
        return users
