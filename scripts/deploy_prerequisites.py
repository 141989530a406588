"""What `make deploy` needs before it starts, each missing one explained in one line (exit 1).

- the SAM CLI (`sam deploy` uploads function.zip and deploys the template); no `sam build`: `make package`
  builds the zip for Lambda's platform with pip, so neither the runtime's Python nor a container is needed;
- AWS credentials and a region, from the standard chain (AWS_PROFILE, ~/.aws/config, SSO, ...), checked with
  botocore without a call to AWS.
"""

from __future__ import annotations

import shutil
import sys

SAM_INSTALL = "pipx install aws-sam-cli (or the installer from the AWS SAM developer guide)"


def problems() -> list[str]:
    found = []
    if shutil.which("sam") is None:
        found.append(f"the AWS SAM CLI is not on PATH: install it with {SAM_INSTALL}")
    import botocore.exceptions
    import botocore.session

    session = botocore.session.Session()
    try:
        credentials = session.get_credentials()
    except botocore.exceptions.BotoCoreError as exc:  # a profile that does not exist, an SSO token gone
        found.append(f"AWS credentials cannot be read: {exc}")
    else:
        if credentials is None:
            found.append("no AWS credentials: run `aws configure` or `aws sso login`, or set AWS_PROFILE")
    if not session.get_config_variable("region"):
        found.append("no AWS region: set AWS_REGION, or a region in your profile (aws configure)")
    return found


def main() -> None:
    missing = problems()
    for problem in missing:
        print(f"make deploy: {problem}", file=sys.stderr)
    if missing:
        sys.exit(1)


if __name__ == "__main__":
    main()
