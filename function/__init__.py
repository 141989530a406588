"""The Lambda function xrayctl ships: lambda_function.py is the handler (importing this package runs nothing).

It is installed as `xrayctl.function` so that `xrayctl --local` can run it from a wheel; Lambda itself loads
`lambda_function` from the folder, never this package.
"""
