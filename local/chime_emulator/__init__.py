"""A local stand-in for the Amazon Chime SDK Media Pipelines Kinesis Video Stream pool API.

``ChimeEmulator`` holds the state and rules (``model.py``); ``EmulatorServer`` serves it over HTTP
on loopback (``server.py``) so that the unmodified boto3 client reaches it through
``AWS_ENDPOINT_URL_CHIME_SDK_MEDIA_PIPELINES`` or ``endpoint_url``. The same server answers the
``kinesisvideo`` calls on the pools' streams (``AWS_ENDPOINT_URL_KINESIS_VIDEO``) and the ``iam``
calls on their service-linked role (``AWS_ENDPOINT_URL_IAM``), routed by the SigV4 signing name.
"""

from local.chime_emulator.faults import FAULT_KINDS, Fault, FaultPlan
from local.chime_emulator.model import ChimeEmulator, ChimeError, RequestRecord, Switches
from local.chime_emulator.server import EmulatorServer
from local.chime_emulator.service_model import MUTATING_POOL_OPERATIONS

__all__ = [
    "FAULT_KINDS",
    "MUTATING_POOL_OPERATIONS",
    "ChimeEmulator",
    "ChimeError",
    "EmulatorServer",
    "Fault",
    "FaultPlan",
    "RequestRecord",
    "Switches",
]
