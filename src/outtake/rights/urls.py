from django.urls import path

from outtake.rights import views

urlpatterns = [
    path("terms/", views.terms, name="terms"),
    path("assets/<uuid:asset_id>/terms/", views.asset_terms, name="asset-terms"),
    path("contracts/", views.creator_contracts, name="contracts"),
    path("licenses/<uuid:license_id>/contract.pdf", views.license_contract, name="license-pdf"),
    path("licenses/<uuid:license_id>/odrl.json", views.license_odrl, name="license-odrl"),
    path("licenses/<uuid:license_id>/signing/", views.license_signing, name="license-signing"),
    path("certificates/<int:certificate_id>.pem", views.certificate_pem, name="certificate-pem"),
    path("agreement/", views.agreement, name="agreement"),
    path("agreement/current.pdf", views.agreement_current_pdf, name="agreement-current-pdf"),
    path("agreement/text.pdf", views.agreement_text_pdf, name="agreement-text-pdf"),
    path("agreement/<int:attestation_id>.pdf", views.agreement_pdf, name="agreement-pdf"),
    path("approvals/", views.approval_list, name="approvals"),
    path("revocations/", views.revocation_list, name="revocations"),
    path("notices/revocations/<int:notice_id>/", views.revocation_notice, name="revocation"),
    path("assets/attest/", views.uploads_attest, name="uploads-attest"),
    path("assets/<uuid:asset_id>/attest/", views.asset_attest, name="asset-attest"),
    path("assets/<uuid:asset_id>/withdraw/", views.asset_withdraw, name="asset-withdraw"),
    path("rights/report/", views.report, name="report"),
    path("rights/<uuid:asset_id>/claim/", views.public_claim, name="claim"),
    path("release/<str:token>/", views.release_sign, name="release-sign"),
    path("release/<str:token>/release.pdf", views.release_sign_pdf, name="release-sign-pdf"),
    path("releases/", views.release_list, name="releases"),
    path("releases/<int:release_id>.pdf", views.release_pdf, name="release-pdf"),
]
