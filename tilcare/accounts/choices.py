"""Organization kinds and the roles people hold in them."""

from django.db import models


class OrganizationKind(models.TextChoices):
    CENTER = "center", "Treatment center"
    FACILITY = "facility", "Manufacturing facility"


class Role(models.TextChoices):
    NAVIGATOR = "navigator", "Nurse navigator / coordinator"
    FINANCIAL_COORDINATOR = "financial_coordinator", "Financial coordinator"
    SOCIAL_WORKER = "social_worker", "Social worker"
    SURGEON = "surgeon", "Surgeon"
    PHYSICIAN = "physician", "Treating physician"
    NURSE = "nurse", "Inpatient nurse"
    PHARMACIST = "pharmacist", "Pharmacist"
    CENTER_ADMIN = "center_admin", "Center administrator"
    MANUFACTURING_TECH = "manufacturing_tech", "Manufacturing technologist"
    QA_REVIEWER = "qa_reviewer", "QA reviewer"
    PATIENT = "patient", "Patient"


CENTER_ROLES = frozenset(
    {
        Role.NAVIGATOR,
        Role.FINANCIAL_COORDINATOR,
        Role.SOCIAL_WORKER,
        Role.SURGEON,
        Role.PHYSICIAN,
        Role.NURSE,
        Role.PHARMACIST,
        Role.CENTER_ADMIN,
        Role.PATIENT,
    }
)
FACILITY_ROLES = frozenset({Role.MANUFACTURING_TECH, Role.QA_REVIEWER})


class TokenScope(models.TextChoices):
    """What an API token may do: read only, or read and write."""

    READ = "read", "Read only"
    READ_WRITE = "read_write", "Read and write"
