-- Per-device facts (Decoders/PCIDevice.swift): a host's PCI devices behind an IOMMU, each with its own
-- `device.*` facts, as its newest report gives them. A host has one answer per host fact, but many devices,
-- so device facts are not rows of current_facts: `devices(EXPR) >= N` counts, per host, the devices
-- (rows named device.bdf) for which EXPR holds, reading each device's facts by this primary key. History
-- needs no table of its own: each device is a capability version (unit = its address) with raw bytes.
CREATE TABLE current_device_facts (
    host_id INTEGER NOT NULL REFERENCES hosts(id),
    bdf TEXT NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('bool', 'int', 'text')),
    value_int INTEGER,
    value_text TEXT,
    PRIMARY KEY (host_id, bdf, name)
);
