"""One fake AWS for the tests of error translation and of the CLI against an endpoint: a loopback server
that records every request and answers as Lambda, CloudFormation and X-Ray would (botocore parses it all).

By default Invoke answers `{"ok": true}`; GetFunctionConfiguration a function whose BUCKET_NAME is
`<name>-bucket`; DescribeStacks a stack whose `FunctionName` output is `from-the-stack` and `BucketName`
`the-stacks-bucket`; GetTraceSegmentDestination `destination` (XRay, or CloudWatchLogs for Transaction
Search), ACTIVE; a trace retrieval completes at once and finds nothing; every other call an X-Ray that has no
trace and no summary yet. A test sets `respond` to answer otherwise (GetTraceSegmentDestination still answers
`destination` unless it is None).
"""

from __future__ import annotations

from collections.abc import Callable

from xrayctl.local.httpserver import LoopbackHTTPServer, Request, Response

DESCRIBE_STACKS = b"""<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">
<DescribeStacksResult><Stacks><member><StackName>demo</StackName><StackId>id</StackId>
<CreationTime>2026-11-23T00:00:00Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus>
<Outputs><member><OutputKey>FunctionName</OutputKey><OutputValue>from-the-stack</OutputValue></member>
<member><OutputKey>BucketName</OutputKey><OutputValue>the-stacks-bucket</OutputValue></member></Outputs>
</member></Stacks></DescribeStacksResult></DescribeStacksResponse>"""


def default_answer(request: Request) -> Response:
    if request.path == "/StartTraceRetrieval":
        return Response.json(200, {"RetrievalToken": "fake-retrieval"})
    if request.path == "/ListRetrievedTraces":
        return Response.json(200, {"RetrievalStatus": "COMPLETE", "Traces": []})
    if request.path.endswith("/invocations"):
        return Response(200, b'{"ok": true}', {"Content-Type": "application/json"})
    if request.path.endswith("/configuration"):
        name = request.path.split("/")[-2]
        variables = {"BUCKET_NAME": f"{name}-bucket"}
        return Response.json(200, {"FunctionName": name, "Environment": {"Variables": variables}})
    if b"Action=DescribeStacks" in request.body:
        return Response(200, DESCRIBE_STACKS, {"Content-Type": "text/xml"})
    return Response.json(200, {"Traces": [], "UnprocessedTraceIds": [], "TraceSummaries": []})


class FakeAws:
    """A loopback endpoint answering as AWS; `seen` holds every request, in order."""

    def __init__(self) -> None:
        self.seen: list[Request] = []
        self.respond: Callable[[Request], Response] = default_answer
        self.destination: str | None = "XRay"
        self.http = LoopbackHTTPServer(self._handle).start()
        self.url = self.http.url

    def _handle(self, request: Request) -> Response:
        self.seen.append(request)
        if request.path == "/GetTraceSegmentDestination" and self.destination is not None:
            return Response.json(200, {"Destination": self.destination, "Status": "ACTIVE"})
        return self.respond(request)

    def stop(self) -> None:
        self.http.stop()
