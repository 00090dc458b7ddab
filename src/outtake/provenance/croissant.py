"""croissant.json: MLCommons Croissant 1.0 with the RAI vocabulary, describing one delivery.

Files are FileObjects with their SHA-256 (mlcroissant checks them on load); the record set reads
the Parquet index, whose columns carry each sample's shard, offsets, hashes, labels and
provenance.
"""

from __future__ import annotations

from typing import Any

CONFORMS_TO = "http://mlcommons.org/croissant/1.0"

# The standard Croissant 1.0 context (as mlcroissant writes it) plus the RAI namespace.
CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}
_TYPES = {"string": "sc:Text", "int64": "sc:Integer", "double": "sc:Float"}
_LIST = "list<item: "


def _field(index_file: str, column: str, arrow: str, description: str) -> dict[str, Any]:
    """A field read from one index column; a Parquet list column is a repeated field."""
    repeated = arrow.startswith(_LIST)
    field: dict[str, Any] = {
        "@type": "cr:Field",
        "@id": f"samples/{column}",
        "name": column,
        "dataType": _TYPES[arrow.removeprefix(_LIST).removesuffix(">") if repeated else arrow],
        "source": {"fileObject": {"@id": index_file}, "extract": {"column": column}},
    }
    if repeated:
        field["repeated"] = True
    if description:
        field["description"] = description
    return field


def croissant(
    *,
    name: str,
    description: str,
    url: str,
    license_url: str,
    version: str,
    date_published: str,
    files: list[dict[str, Any]],
    index_file: str,
    index_columns: list[tuple[str, str, str]],
    rai: dict[str, Any],
) -> dict[str, Any]:
    """files: [{"path", "sha256", "encoding"}]; index_columns: [(name, arrow type,
    description)]."""
    distribution = [
        {
            "@type": "cr:FileObject",
            "@id": f["path"],
            "name": f["path"],
            "contentUrl": f["path"],
            "encodingFormat": f["encoding"],
            "sha256": f["sha256"],
        }
        for f in files
    ]
    fields = [_field(index_file, *column) for column in index_columns]
    return {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": CONFORMS_TO,
        "name": name,
        "description": description,
        "url": url,
        "license": license_url,
        "version": version,
        "datePublished": date_published,
        "creator": {"@type": "sc:Organization", "name": "Outtake"},
        "citeAs": f"{name}, licensed through Outtake, {url}",
        "distribution": distribution,
        "recordSet": [
            {
                "@type": "cr:RecordSet",
                "@id": "samples",
                "name": "samples",
                "description": "One record per sample: where it is, its hashes, labels and "
                "provenance.",
                "key": {"@id": "samples/key"},
                "field": fields,
            }
        ],
        **{f"rai:{k}": v for k, v in rai.items()},
    }
