"""The staff area of the public site: administrators write (texts, documents, partners), members read,
everyone else gets a 404; uploads are checked by extension AND content, within a size limit, and a refused
upload saves nothing; files are stored under random names and served with Content-Disposition."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from clausier.audit.models import AuditEntry
from clausier.publicsite.models import Partner, PublicDocument, PublicProfile
from clausier.publicsite.uploads import DOCUMENT_MAX_BYTES

pytestmark = pytest.mark.django_db

INDEX = "/equipe/site-public/"
NEW_DOCUMENT = "/equipe/site-public/documents/nouveau/"
NEW_PARTNER = "/equipe/site-public/partenaires/nouveau/"

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def a_zip(members: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


DOCX = a_zip({"[Content_Types].xml": "<Types/>", "word/document.xml": "<w:document/>"})
XLSX = a_zip({"[Content_Types].xml": "<Types/>", "xl/workbook.xml": "<workbook/>"})
ODT = a_zip({"mimetype": "application/vnd.oasis.opendocument.text", "content.xml": "<office:document/>"})


def an_image(image_format: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (120, 60), (0, 0, 145)).save(buffer, format=image_format)
    return buffer.getvalue()


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def document_payload(name="guide.pdf", content=PDF, **extra):
    return {
        "title": "Guide de la clause sociale",
        "audience": "buyers",
        "description": "Pour bien démarrer.",
        "file": upload(name, content),
        **extra,
    }


def stored_files(media_root) -> list:
    return [p for p in media_root.rglob("*") if p.is_file()] if media_root.exists() else []


@pytest.fixture
def admin_client(facilitator_admin_client, media_root):
    return facilitator_admin_client


# --- Documents ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("Guide acheteurs.pdf", PDF, "application/pdf"),
        ("Clause type.docx", DOCX, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("Bilan.XLSX", XLSX, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("Modèle.odt", ODT, "application/vnd.oasis.opendocument.text"),
    ],
)
def test_an_admin_adds_a_document(name, content, content_type, admin_client, world_a, media_root, client):
    response = admin_client.post(
        NEW_DOCUMENT, document_payload(name, content, is_model_clause="on", audience="companies")
    )

    assert response.status_code == 302 and response["Location"] == INDEX
    document = PublicDocument.objects.get()
    assert (document.facilitator, document.audience, document.is_model_clause) == (
        world_a.facilitator,
        "companies",
        True,
    )
    assert (document.original_name, document.content_type, document.size) == (
        name,
        content_type,
        len(content),
    )
    [path] = stored_files(media_root)
    assert name.rsplit(".", 1)[0] not in path.name and path.name.endswith(name.rsplit(".", 1)[1].lower())
    assert path.read_bytes() == content
    entry = AuditEntry.objects.get(object_type="publicsite.publicdocument")
    assert (entry.action, entry.actor, entry.facilitator) == (
        "create",
        world_a.users["facilitator_admin"],
        world_a.facilitator,
    )
    # Anyone downloads it from the documentation space, as an attachment under its own name.
    html = client.get(f"/cellules/{world_a.facilitator.slug}/documentation/").content.decode()
    assert "Guide de la clause sociale" in html and "Texte de clause type" in html
    download = client.get(f"/cellules/{world_a.facilitator.slug}/documentation/{document.uuid}/")
    assert download.status_code == 200
    assert download["Content-Type"] == content_type
    assert download["Content-Disposition"].startswith("attachment;")
    assert b"".join(download.streaming_content) == content


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("programme.exe", b"MZ\x90\x00", "seuls les fichiers PDF, DOCX, ODT et XLSX sont acceptés"),
        ("notes.txt", b"du texte", "seuls les fichiers PDF, DOCX, ODT et XLSX sont acceptés"),
        ("logo.svg", b"<svg/>", "seuls les fichiers PDF, DOCX, ODT et XLSX sont acceptés"),
        ("sans-extension", PDF, "seuls les fichiers PDF, DOCX, ODT et XLSX sont acceptés"),
        ("faux.pdf", an_image("PNG"), "ne correspond pas à un fichier PDF"),
        ("faux.pdf", b"MZ\x90\x00 un programme", "ne correspond pas à un fichier PDF"),
        ("tableur.docx", XLSX, "ne correspond pas à un fichier DOCX"),
        ("texte.xlsx", DOCX, "ne correspond pas à un fichier XLSX"),
        ("archive.odt", a_zip({"content.xml": "<x/>"}), "ne correspond pas à un fichier ODT"),
        ("document.docx", b"PK\x03\x04 pas vraiment un zip", "ne correspond pas à un fichier DOCX"),
        ("vide.pdf", b"", "vide"),
        ("trop-gros.pdf", PDF + b"0" * DOCUMENT_MAX_BYTES, "dépasse la taille maximale de 10 Mo"),
    ],
)
def test_a_refused_document_saves_nothing(name, content, message, admin_client, media_root):
    response = admin_client.post(NEW_DOCUMENT, document_payload(name, content))

    assert response.status_code == 200
    assert message in response.content.decode().replace("&#x27;", "'")
    assert "rien n'a été enregistré" in response.content.decode()
    assert not PublicDocument.objects.exists()
    assert not AuditEntry.objects.filter(object_type="publicsite.publicdocument").exists()
    assert stored_files(media_root) == []


def test_an_admin_edits_a_document_and_replaces_its_file(admin_client, world_a, media_root):
    admin_client.post(NEW_DOCUMENT, document_payload())
    document = PublicDocument.objects.get()
    url = f"/equipe/site-public/documents/{document.uuid}/modifier/"

    kept = admin_client.post(url, {"title": "Nouveau titre", "audience": "partners"})
    assert kept.status_code == 302
    document.refresh_from_db()
    assert (document.title, document.audience, document.original_name) == (
        "Nouveau titre",
        "partners",
        "guide.pdf",
    )

    replaced = admin_client.post(
        url, {"title": "Nouveau titre", "audience": "partners", "file": upload("v2.docx", DOCX)}
    )
    assert replaced.status_code == 302
    document.refresh_from_db()
    assert (document.original_name, document.size) == ("v2.docx", len(DOCX))
    with document.file.open("rb") as stored:
        assert stored.read() == DOCX
    refused = admin_client.post(url, {"title": "Autre", "audience": "buyers", "file": upload("v3.pdf", DOCX)})
    assert refused.status_code == 200
    document.refresh_from_db()
    assert (document.title, document.original_name) == ("Nouveau titre", "v2.docx")
    actions = list(
        AuditEntry.objects.filter(object_type="publicsite.publicdocument")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == ["create", "update", "update"]


def test_deleting_a_document_asks_for_confirmation(admin_client, world_a, client):
    admin_client.post(NEW_DOCUMENT, document_payload())
    document = PublicDocument.objects.get()
    url = f"/equipe/site-public/documents/{document.uuid}/supprimer/"

    page = admin_client.get(url)
    assert page.status_code == 200 and "La suppression est définitive" in page.content.decode()
    assert admin_client.post(url, {}).status_code == 200
    assert PublicDocument.objects.exists()

    assert admin_client.post(url, {"confirm": "on"}).status_code == 302
    assert not PublicDocument.objects.exists()
    assert AuditEntry.objects.filter(object_type="publicsite.publicdocument", action="delete").count() == 1
    assert (
        client.get(f"/cellules/{world_a.facilitator.slug}/documentation/{document.uuid}/").status_code == 404
    )


# --- Texts --------------------------------------------------------------------------------------------------


def test_an_admin_edits_the_texts(admin_client, world_a, client):
    response = admin_client.post(
        "/equipe/site-public/textes/",
        {
            "role_text": "Nous accompagnons.\n\nNous suivons.",
            "history_text": "Créée en 2012 <b>à Toulouse</b>.",
        },
    )

    assert response.status_code == 302
    profile = PublicProfile.objects.get(facilitator=world_a.facilitator)
    assert profile.history_text == "Créée en 2012 <b>à Toulouse</b>."
    assert AuditEntry.objects.get(object_type="publicsite.publicprofile").action == "update"
    html = client.get(f"/cellules/{world_a.facilitator.slug}/").content.decode()
    assert "<p>Nous accompagnons.</p>\n\n<p>Nous suivons.</p>" in html
    assert "Créée en 2012 &lt;b&gt;à Toulouse&lt;/b&gt;." in html


# --- Partners -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "image_format", "content_type"),
    [("logo.png", "PNG", "image/png"), ("logo.jpeg", "JPEG", "image/jpeg")],
)
def test_an_admin_adds_a_partner_with_a_logo(name, image_format, content_type, admin_client, world_a, client):
    response = admin_client.post(
        NEW_PARTNER,
        {
            "name": "Département",
            "url": "https://example.org",
            "order": "1",
            "logo": upload(name, an_image(image_format)),
        },
    )

    assert response.status_code == 302
    partner = Partner.objects.get()
    assert (partner.name, partner.url, partner.logo_content_type) == (
        "Département",
        "https://example.org",
        content_type,
    )
    logo = client.get(f"/cellules/{world_a.facilitator.slug}/partenaires/{partner.uuid}/logo/")
    assert logo.status_code == 200 and logo["Content-Type"] == content_type
    assert Image.open(io.BytesIO(b"".join(logo.streaming_content))).format == image_format
    html = client.get(f"/cellules/{world_a.facilitator.slug}/").content.decode()
    assert f'/partenaires/{partner.uuid}/logo/" alt="Département"' in html
    assert AuditEntry.objects.filter(object_type="publicsite.partner", action="create").exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "logo.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "pas de SVG",
        ),
        ("logo.png", b'<svg xmlns="http://www.w3.org/2000/svg"/>', "pas une image PNG ou JPEG valide"),
        ("logo.png", an_image("GIF"), "pas une image PNG ou JPEG valide"),
        ("logo.jpg", PDF, "pas une image PNG ou JPEG valide"),
        ("logo.png", an_image("PNG")[:40], "pas une image PNG ou JPEG valide"),
    ],
)
def test_a_refused_logo_saves_nothing(name, content, message, admin_client, media_root):
    response = admin_client.post(NEW_PARTNER, {"name": "X", "order": "0", "logo": upload(name, content)})

    assert response.status_code == 200
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not Partner.objects.exists()
    assert stored_files(media_root) == []


def test_an_admin_edits_and_deletes_a_partner(admin_client, world_a):
    admin_client.post(NEW_PARTNER, {"name": "Agence", "order": "2", "logo": upload("l.png", an_image("PNG"))})
    partner = Partner.objects.get()
    edit = f"/equipe/site-public/partenaires/{partner.uuid}/modifier/"
    assert (
        admin_client.post(edit, {"name": "Agence régionale", "order": "1", "remove_logo": "on"}).status_code
        == 302
    )
    partner.refresh_from_db()
    assert (partner.name, partner.order, bool(partner.logo)) == ("Agence régionale", 1, False)
    delete = f"/equipe/site-public/partenaires/{partner.uuid}/supprimer/"
    assert admin_client.post(delete, {"confirm": "on"}).status_code == 302
    assert not Partner.objects.exists()


# --- Who may do what ----------------------------------------------------------------------------------------


def test_members_read_the_staff_area_but_do_not_write(facilitator_member_client, world_a, media_root):
    Partner.objects.create(facilitator=world_a.facilitator, name="Agence")
    index = facilitator_member_client.get(INDEX)
    html = index.content.decode()
    assert index.status_code == 200 and "Consultation seule" in html and "Agence" in html
    assert "Ajouter un document" not in html
    assert f'href="/cellules/{world_a.facilitator.slug}/"' in html  # the preview link

    for url in (NEW_DOCUMENT, NEW_PARTNER, "/equipe/site-public/textes/"):
        response = facilitator_member_client.get(url)
        assert response.status_code == 302 and response["Location"] == INDEX
    response = facilitator_member_client.post(NEW_DOCUMENT, document_payload(), follow=True)
    assert (
        "Seuls les administrateurs du facilitateur peuvent modifier le site public."
        in response.content.decode()
    )
    facilitator_member_client.post("/equipe/site-public/textes/", {"role_text": "x", "history_text": "y"})
    assert not PublicDocument.objects.exists() and not PublicProfile.objects.exists()
    assert stored_files(media_root) == []


def test_the_admin_sees_the_editing_links(admin_client):
    html = admin_client.get(INDEX).content.decode()
    assert "Ajouter un document" in html and "Ajouter un partenaire" in html and "Modifier les textes" in html


@pytest.mark.parametrize("role", ["buyer", "company", "structure", "prescriber"])
def test_staff_pages_are_404_for_everyone_else(role, world_a, client_for, media_root):
    client = client_for(world_a.users[role])
    for url in (INDEX, NEW_DOCUMENT, NEW_PARTNER, "/equipe/site-public/textes/"):
        assert client.get(url).status_code == 404, url
    assert client.post(NEW_DOCUMENT, document_payload()).status_code == 404
    assert not PublicDocument.objects.exists()


def test_another_facilitators_document_is_404(worlds, client_for, media_root):
    a, b = worlds
    client_for(a.users["facilitator_admin"]).post(NEW_DOCUMENT, document_payload())
    document = PublicDocument.objects.get()
    b_admin = client_for(b.users["facilitator_admin"])
    for action in ("modifier", "supprimer"):
        url = f"/equipe/site-public/documents/{document.uuid}/{action}/"
        assert b_admin.get(url).status_code == 404
        assert b_admin.post(url, {"confirm": "on", "title": "x", "audience": "buyers"}).status_code == 404
    assert "Guide de la clause sociale" not in b_admin.get(INDEX).content.decode()
    # Nor is it served under the other cellule's address.
    assert (
        client_for(None).get(f"/cellules/{b.facilitator.slug}/documentation/{document.uuid}/").status_code
        == 404
    )
    assert PublicDocument.objects.get().title == "Guide de la clause sociale"
