"""The pools' service-linked role: created on a pool's first Create in an account, never fatal.

Chime SDK Media Pipelines creates a pool's Kinesis video streams through the role
``AWSServiceRoleForAmazonChimeSDKMediaPipelines``. In a fresh account it may not exist yet. The
handler calls ``CreateServiceLinkedRole`` and treats "has been taken" as success: one call, and no
``iam:GetRole`` permission needed, which is the smallest grant that works.
"""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import ClientError

from . import pool_rules

logger = logging.getLogger(__name__)

CREATED = "created"
ALREADY_EXISTS = "already exists"


def ensure_service_linked_role(iam_client: Any) -> str:
    """Create the role if it is missing; return what happened, in a few words.

    A failure other than "already exists" (a missing permission, an organisation policy) is logged
    and returned, not raised: the role may well exist, and the pool's own Create then tells.
    """
    try:
        iam_client.create_service_linked_role(AWSServiceName=pool_rules.SERVICE_LINKED_ROLE_SERVICE)
    except ClientError as error:
        details = error.response.get("Error", {})
        code = str(details.get("Code", ""))
        if code == "InvalidInput" and "has been taken" in str(details.get("Message", "")):
            logger.info("Service-linked role %s already exists", pool_rules.SERVICE_LINKED_ROLE_NAME)
            return ALREADY_EXISTS
        logger.warning(
            "Could not make sure service-linked role %s exists (%s); going on",
            pool_rules.SERVICE_LINKED_ROLE_NAME,
            code or type(error).__name__,
        )
        return f"not ensured ({code or type(error).__name__})"
    logger.info("Created service-linked role %s", pool_rules.SERVICE_LINKED_ROLE_NAME)
    return CREATED
