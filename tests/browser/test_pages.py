"""Every page once in a real browser, with a screenshot to look at (test-artifacts/)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from mesoclinic.patients.models import Patient
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_login_page_labels_its_fields_and_explains_a_wrong_password(page, shot, world):
    page.goto("/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    shot("login")
    sign_in(page, "fiona@acme.test", "not the password")
    expect(page.get_by_role("alert")).to_contain_text("do not match")
    shot("login-error")


def test_registration_form_shows_each_error_beside_its_field(page, shot, world):
    sign_in(page, "fiona@acme.test", PASSWORD)
    page.goto("/patients/new/")
    page.get_by_label("Given name").fill("   ")
    page.get_by_label("Date of birth").fill("2999-01-01")
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_label("Phone").fill("call me")
    page.get_by_role("button", name="Register patient").click()
    expect(page.get_by_text("Given name is required.")).to_be_visible()
    expect(page.get_by_text("Date of birth cannot be in the future.")).to_be_visible()
    expect(page.get_by_text("Enter a valid email address")).to_be_visible()
    expect(page.get_by_text("Enter a phone number of 6 to 15 digits")).to_be_visible()
    shot("patient-new-errors")
    assert Patient.objects.filter(organisation=world.acme).count() == 2


def test_a_likely_duplicate_is_shown_before_saving(page, shot, world):
    sign_in(page, "fiona@acme.test", PASSWORD)
    page.goto("/patients/new/")
    page.get_by_label("Given name").fill("ana")
    page.get_by_label("Family name").fill("SILVA")
    page.get_by_label("Date of birth").fill("1985-03-14")
    page.get_by_label("Sex at birth").select_option("female")
    page.get_by_role("button", name="Register patient").click()
    expect(page.get_by_text("Possible duplicate")).to_be_visible()
    expect(page.get_by_role("link", name="Ana Silva, ACM-000001")).to_be_visible()
    shot("patient-duplicate-warning")
    assert Patient.objects.filter(family_name__iexact="silva").count() == 1
    page.get_by_label("I have checked: this is a different person").check()
    page.get_by_role("button", name="Register patient").click()
    expect(page.get_by_role("heading", name="ana SILVA")).to_be_visible()
    assert Patient.objects.filter(family_name__iexact="silva").count() == 2


def test_admin_pages_audit_trail_and_staff(page, shot, world):
    sign_in(page, "alice@acme.test", PASSWORD)
    page.get_by_role("link", name="Audit trail").click()
    expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()
    expect(page.get_by_role("cell", name="patient.create").first).to_be_visible()
    shot("audit-trail")
    page.get_by_label("Action").select_option("patient.create")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("cell", name="membership.create")).to_have_count(0)
    page.get_by_role("link", name="Staff").click()
    expect(page.get_by_role("heading", name="Invite a staff member")).to_be_visible()
    expect(page.get_by_role("cell", name="Dora Departed")).to_be_visible()
    shot("staff")


def test_auditor_sees_no_write_buttons(page, shot, world):
    sign_in(page, "audrey@acme.test", PASSWORD)
    page.goto(f"/patients/{world.acme_patient.pk}/")
    expect(page.get_by_role("heading", name="Ana Silva")).to_be_visible()
    expect(page.get_by_role("link", name="Edit details")).to_have_count(0)
    page.goto("/patients/")
    expect(page.get_by_role("link", name="Register a patient")).to_have_count(0)
    shot("auditor-patient-list")


def test_patient_portal_shows_only_the_patients_own_record(page, shot, world):
    sign_in(page, "pat@example.com", PASSWORD)
    expect(page.get_by_role("heading", name="Hello, Pat")).to_be_visible()
    expect(page.get_by_text(world.pat_patient.mrn, exact=True)).to_be_visible()
    shot("portal-home")


def test_pages_fit_a_phone_screen(browser, live_server, world):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    page = context.new_page()
    sign_in(page, "fiona@acme.test", PASSWORD)
    page.goto("/patients/")
    expect(page.get_by_role("link", name="Silva, Ana")).to_be_visible()
    # No sideways scrolling of the whole page on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(_shots() / "phone-patient-list.png"), full_page=True)
    context.close()


def _shots():  # type: ignore[no-untyped-def]
    from tests.browser.conftest import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def test_admin_edits_a_clinics_opening_hours(page, shot, world):
    sign_in(page, "alice@acme.test", PASSWORD)
    page.get_by_role("link", name="Clinics").click()
    expect(page.get_by_role("heading", name="Acme City")).to_be_visible()
    shot("clinics")
    page.get_by_role("link", name="Edit Acme City").click()
    page.get_by_label("Saturday").fill("10:00-14:00")
    page.get_by_label("Monday").fill("9-5")
    page.get_by_role("button", name="Save clinic").click()
    expect(page.get_by_text("is not an interval like 09:00-17:00")).to_be_visible()
    shot("clinic-edit-error")
    page.get_by_label("Monday").fill("09:00-13:00, 14:00-19:00")
    page.get_by_role("button", name="Save clinic").click()
    expect(page.get_by_text("Clinic saved.")).to_be_visible()
    world.acme_city.refresh_from_db()
    assert [h.as_interval()[0] for h in world.acme_city.opening_hours.all()].count(0) == 2


def test_practitioner_records_a_hair_loss_assessment(page, shot, world):
    sign_in(page, "paul@acme.test", PASSWORD)
    page.goto(f"/patients/{world.acme_patient.pk}/assessment/")
    expect(page.get_by_text("No hair-loss assessment recorded")).to_be_visible()
    page.get_by_role("link", name="Record an assessment").click()
    page.get_by_label("Ludwig").select_option("II")
    page.get_by_label("BASP basic type").select_option("C1")
    page.get_by_label("Vertex (crown)").check()
    page.get_by_label("Mid-scalp").check()
    page.get_by_label("Clinician notes").fill("Diffuse thinning over the crown.")
    shot("assessment-new")
    page.get_by_role("button", name="Save assessment").click()
    expect(page.get_by_text("Assessment recorded.")).to_be_visible()
    expect(page.get_by_role("cell", name="Mid-scalp, Vertex (crown)")).to_be_visible()
    shot("assessment-history")
    page.get_by_role("link", name="Overview").click()
    expect(page.get_by_role("heading", name="Latest assessment")).to_be_visible()
    shot("patient-chart-with-assessment")


def test_practitioner_fills_in_the_intake_and_sees_the_flags(page, shot, world):
    sign_in(page, "paul@acme.test", PASSWORD)
    page.goto(f"/patients/{world.acme_patient.pk}/")
    page.get_by_role("link", name="Fill in the intake").click()
    page.get_by_label("When did the hair loss start?").fill("2022")
    page.get_by_label("Diffuse thinning").check()
    page.get_by_role("radiogroup", name="Pregnant now").get_by_label("Yes", exact=True).check()
    page.get_by_role("radiogroup", name="Diabetes").get_by_label("No", exact=True).check()
    page.get_by_label("Allergic to the components ticked below").check()
    page.get_by_label("Lidocaine").check()
    shot("intake-new")
    page.get_by_role("button", name="Save intake").click()
    expect(page.get_by_text("Intake saved.")).to_be_visible()
    expect(page.locator("li.flag", has_text="Pregnant now").first).to_be_visible()
    shot("intake-tab")
    page.get_by_role("link", name="Overview").click()
    expect(page.get_by_role("heading", name="Intake")).to_be_visible()
    shot("patient-chart-overview")


def test_pregnant_patient_screened_for_dutasteride_is_not_eligible(page, shot, world):
    from mesoclinic.screening.selectors import screening_permits

    sign_in(page, "paul@acme.test", PASSWORD)
    page.goto(f"/patients/{world.acme_patient.pk}/intakes/new/")
    page.get_by_role("radiogroup", name="Pregnant now").get_by_label("Yes", exact=True).check()
    page.get_by_role("button", name="Save intake").click()
    expect(page.get_by_text("Intake saved.")).to_be_visible()
    page.get_by_role("link", name="Screening").click()
    page.get_by_role("link", name="Screen for a treatment").click()
    page.get_by_label("Mesotherapy", exact=True).check()
    page.get_by_label("Dutasteride").check()
    shot("screening-new")
    page.get_by_role("button", name="Screen and sign").click()
    expect(page.get_by_text("Screening signed.")).to_be_visible()
    expect(page.locator(".badge.outcome").first).to_have_text("Not eligible")
    expect(page.get_by_text("Dutasteride and pregnancy or breastfeeding")).to_be_visible()
    source = page.get_by_role("link", name="http://www.drugs.com/pregnancy/dutasteride.html")
    expect(source.first).to_be_visible()
    shot("screening-not-eligible")
    # The course cannot start: the latest screening for mesotherapy does not permit it.
    assert not screening_permits(patient=world.acme_patient, protocol_kind="mesotherapy")


def test_front_desk_records_a_drawn_signature_and_opens_the_pdf(page, shot, world):
    from mesoclinic.patients.models import SignedConsent

    sign_in(page, "fiona@acme.test", PASSWORD)
    page.goto(f"/patients/{world.acme_patient.pk}/consents/")
    shot("consents-tab")
    page.get_by_role("link", name="Sign").first.click()
    expect(page.get_by_role("heading", name="Hair mesotherapy")).to_be_visible()
    page.get_by_label("Patient's full name, typed by the patient").fill("Ana Silva")
    pad = page.locator("canvas.signature-pad")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 30, box["y"] + 100)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(box["x"] + 30 + step * 25, box["y"] + 100 + (-1) ** step * 30)
    page.mouse.up()
    shot("consent-sign")
    page.get_by_role("button", name="Sign the consent").click()
    expect(page.get_by_text("Consent signed.")).to_be_visible()
    consent = SignedConsent.objects.get(patient=world.acme_patient)
    assert bytes(consent.signature_png).startswith(b"\x89PNG")
    assert len(bytes(consent.signature_png)) > 500  # a real drawing, not an empty box
    shot("consents-signed")
    response = page.request.get(f"/patients/consents/{consent.pk}.pdf")
    assert response.status == 200
    assert response.body().startswith(b"%PDF-")


def test_admin_publishes_a_new_consent_text(page, shot, world):
    sign_in(page, "alice@acme.test", PASSWORD)
    page.get_by_role("link", name="Consent texts").click()
    expect(page.get_by_role("heading", name="Hair mesotherapy version 1")).to_be_visible()
    page.get_by_role("link", name="Photographs of the scalp").click()
    field = page.get_by_label("Text the patient reads and signs")
    field.fill(field.input_value() + "\n\nPhotographs are stored encrypted.")
    shot("consent-text-edit")
    page.get_by_role("button", name="Publish a new version").click()
    expect(page.get_by_text("Version 2 of “Photographs of the scalp” published.")).to_be_visible()
