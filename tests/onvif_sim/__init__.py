"""An ONVIF device simulator for tests: real SOAP 1.2 answers (validated against the ONVIF
WSDLs), WS-UsernameToken digest checks against a skewable clock, a digest-protected snapshot,
and a WS-Discovery responder."""

from tests.onvif_sim.device import DeviceConfig, OnvifSimulator, Records
from tests.onvif_sim.soap import SimProfile

__all__ = ["DeviceConfig", "OnvifSimulator", "Records", "SimProfile"]
