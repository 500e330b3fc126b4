"""What a release says about its own licence, version and the versions and licences of its sources.

One licence for everything we publish (CC BY 4.0) is named here, and the VoID description of a
release states, for each `DatabaseRecord` the data cite, the licence it is published under and
the version that was read, as the source tables record them (`cytokg:licence`, an SPDX
identifier, and `cytokg:sourceVersion`); a record without one says that it is not recorded.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from rdflib import Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS

from kg.triples import Triple
from kg.vocab import BASE, ONTOLOGY_IRI

# The licence of the data, the ontology and the code of this project (see LICENSE).
LICENCE = "https://creativecommons.org/licenses/by/4.0/"
LICENCE_SPDX = "CC-BY-4.0"
PAV = Namespace("http://purl.org/pav/")
DATABASE_RECORD = URIRef(BASE + "DatabaseRecord")
SPDX_PROPERTY = URIRef(BASE + "licence")
VERSION_PROPERTY = URIRef(BASE + "sourceVersion")
# The IRI each licence steward publishes for a licence; any other SPDX id resolves at spdx.org.
# `LicenseRef-` ids (SPDX's form for licences off its list) name a resource's own terms.
LICENCE_IRIS = {
    "CC0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
    "CC-BY-3.0": "https://creativecommons.org/licenses/by/3.0/",
    "CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "CC-BY-SA-4.0": "https://creativecommons.org/licenses/by-sa/4.0/",
    "CC-BY-NC-4.0": "https://creativecommons.org/licenses/by-nc/4.0/",
    "GPL-3.0-or-later": "https://www.gnu.org/licenses/gpl-3.0.html",
    "MIT": "https://opensource.org/licenses/MIT",
    "LicenseRef-KEGG": "https://www.kegg.jp/kegg/legal.html",
    "LicenseRef-PROSITE": "https://prosite.expasy.org/prosite_license.html",
}
NO_LICENCE = "Licence not verified: the source tables record none for this source."
NO_VERSION = "Version not recorded: the source tables give none for this source."


def licence_iri(spdx: str) -> URIRef:
    """The IRI of a licence named by its SPDX identifier."""
    return URIRef(LICENCE_IRIS.get(spdx, f"https://spdx.org/licenses/{spdx}"))


def source_provenance(asserted: Iterable[Triple], dataset: URIRef) -> Iterator[Triple]:
    """Yield VoID triples: the release's version, and each database record's licence and version.

    `asserted` is the asserted graph; the dataset gets `pav:version` and `dcterms:hasVersion`
    (the ontology's version IRI), each record `dcterms:license` and `pav:version`, or an
    `rdfs:comment` saying which of the two the tables do not give.
    """
    records: set = set()
    licences: dict = {}
    versions: dict = {}
    for s, p, o in asserted:
        if p == RDF.type and o == DATABASE_RECORD:
            records.add(s)
        elif p == SPDX_PROPERTY:
            licences.setdefault(s, set()).add(str(o))
        elif p == VERSION_PROPERTY:
            versions.setdefault(s, set()).add(str(o))
        elif s == ONTOLOGY_IRI and p == OWL.versionInfo:
            yield (dataset, PAV.version, Literal(str(o)))
        elif s == ONTOLOGY_IRI and p == OWL.versionIRI:
            yield (dataset, DCTERMS.hasVersion, o)
    for record in sorted(records):
        for spdx in sorted(licences.get(record, ())):
            yield (record, DCTERMS.license, licence_iri(spdx))
        for version in sorted(versions.get(record, ())):
            yield (record, PAV.version, Literal(version))
        if record not in licences:
            yield (record, RDFS.comment, Literal(NO_LICENCE, lang="en"))
        if record not in versions:
            yield (record, RDFS.comment, Literal(NO_VERSION, lang="en"))
