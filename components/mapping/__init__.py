"""Per-merchant field mapping: canonical recovery fields <-> each vendor's objects and fields.

    mapping = load_mapping("scenarios/mappings/acme-stripe-netsuite-salesforce.yaml")
    fields = mapping.to_vendor("netsuite", "invoice", {"retry_count": 2})
    invoice = mapping.from_vendor("netsuite", "invoice", record)
"""

from components.mapping.canonical import ENTITIES, CanonicalField, FieldType, RecoveryStatus
from components.mapping.formats import FORMATS, Codec, VendorFormat
from components.mapping.model import (
    FieldMap,
    MappingError,
    MerchantMapping,
    RecordMap,
    load_mapping,
    mapping_from_dict,
)

__all__ = [
    "ENTITIES",
    "FORMATS",
    "CanonicalField",
    "Codec",
    "FieldMap",
    "FieldType",
    "MappingError",
    "MerchantMapping",
    "RecordMap",
    "RecoveryStatus",
    "VendorFormat",
    "load_mapping",
    "mapping_from_dict",
]
