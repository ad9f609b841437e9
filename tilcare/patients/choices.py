"""Coded values for the person: sex, diagnosis, prior therapy, consent."""

from django.db import models


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Unknown"


class CancerType(models.TextChoices):
    MELANOMA_CUTANEOUS = "melanoma_cutaneous", "Melanoma, cutaneous"
    MELANOMA_MUCOSAL = "melanoma_mucosal", "Melanoma, mucosal"
    MELANOMA_ACRAL = "melanoma_acral", "Melanoma, acral"
    MELANOMA_UVEAL = "melanoma_uveal", "Melanoma, uveal"
    MELANOMA_UNKNOWN_PRIMARY = "melanoma_unknown_primary", "Melanoma, unknown primary"
    NSCLC = "nsclc", "Non-small cell lung cancer"
    CERVICAL = "cervical", "Cervical cancer"
    HEAD_AND_NECK = "head_and_neck", "Head and neck squamous cell carcinoma"
    OTHER_SOLID = "other_solid", "Other solid tumor"


class DiseaseStage(models.TextChoices):
    III_UNRESECTABLE = "III_unresectable", "Stage III, unresectable"
    IV_M1A = "IV_M1a", "Stage IV, M1a"
    IV_M1B = "IV_M1b", "Stage IV, M1b"
    IV_M1C = "IV_M1c", "Stage IV, M1c"
    IV_M1D = "IV_M1d", "Stage IV, M1d (CNS)"
    IV_OTHER = "IV", "Stage IV"
    OTHER = "other", "Other / not staged"


class BrafStatus(models.TextChoices):
    V600_MUTANT = "v600_mutant", "BRAF V600 mutation"
    WILD_TYPE = "wild_type", "BRAF wild-type"
    UNKNOWN = "unknown", "Not tested / unknown"


class TherapyClass(models.TextChoices):
    ANTI_PD1 = "anti_pd1", "Anti-PD-1"
    ANTI_PDL1 = "anti_pdl1", "Anti-PD-L1"
    ANTI_CTLA4 = "anti_ctla4", "Anti-CTLA-4"
    ANTI_LAG3 = "anti_lag3", "Anti-LAG-3"
    BRAF_INHIBITOR = "braf_inhibitor", "BRAF inhibitor"
    MEK_INHIBITOR = "mek_inhibitor", "MEK inhibitor"
    CHEMOTHERAPY = "chemotherapy", "Chemotherapy"
    RADIOTHERAPY = "radiotherapy", "Radiotherapy"
    SURGERY = "surgery", "Surgery"
    OTHER = "other", "Other"


class ConsentKind(models.TextChoices):
    TIL_THERAPY = "til_therapy", "TIL therapy (treatment consent)"
    TISSUE_PROCUREMENT = "tissue_procurement", "Tumor tissue procurement"
    DATA_SHARING = "data_sharing", "Data sharing with the manufacturer"
    RESEARCH = "research", "Research use of samples and data"
    PORTAL = "portal", "Patient portal and messaging"


class ContactRelationship(models.TextChoices):
    SPOUSE = "spouse", "Spouse / partner"
    PARENT = "parent", "Parent"
    CHILD = "child", "Child"
    SIBLING = "sibling", "Sibling"
    FRIEND = "friend", "Friend"
    OTHER = "other", "Other"
