"""The user guide's Python client examples, verbatim except for the
constants at the top (the guide points them at 192.168.1.100 and
localhost:8000; tests point them at a simulated BMC and the service under
test through these variables)."""
import os

import requests
import time

BMC_SERVICE_URL = os.environ.get("GUIDE_SERVICE_URL", "http://localhost:8000")
BMC_IP = os.environ.get("GUIDE_BMC_IP", "192.168.1.100")
BMC_USER = os.environ.get("GUIDE_BMC_USER", "admin")
BMC_PASS = os.environ.get("GUIDE_BMC_PASS", "password")


# --- "Using with Python Scripts" ------------------------------------------
def validate_bmc():
    """Validate BMC connection."""
    response = requests.post(
        f"{BMC_SERVICE_URL}/validate",
        json={
            "ip": BMC_IP,
            "username": BMC_USER,
            "password": BMC_PASS,
            "protocol": "redfish"
        }
    )
    return response.json()


def power_on_bmc():
    """Power on the server via BMC."""
    response = requests.post(
        f"{BMC_SERVICE_URL}/action",
        json={
            "ip": BMC_IP,
            "username": BMC_USER,
            "password": BMC_PASS,
            "protocol": "redfish",
            "action": "on"
        }
    )
    return response.json()


# --- "Task Status Monitoring" ---------------------------------------------
def wait_for_task_completion(task_id, timeout=300):
    """Wait for async task to complete."""
    start_time = time.time()
    while time.time() - start_time < timeout:
        response = requests.get(
            f"{BMC_SERVICE_URL}/tasks/{task_id}"
        )
        task = response.json()

        if task.get("status") == "success":
            return True, task.get("result")
        elif task.get("status") == "failed":
            return False, task.get("error_message")

        time.sleep(1)  # Poll every second

    return False, "Task timeout"


# --- "Error Handling" -----------------------------------------------------
def execute_action_with_error_handling(ip, username, password, action):
    """Execute action with proper error handling."""
    response = requests.post(
        f"{BMC_SERVICE_URL}/action",
        json={
            "ip": ip,
            "username": username,
            "password": password,
            "protocol": "redfish",
            "action": action
        }
    )

    result = response.json()

    if result.get("success"):
        return True, result.get("message")

    error_code = result.get("error_code")
    error_message = result.get("message")

    # Handle specific error codes
    if error_code == 1001:
        return False, "Authentication failed - check credentials"
    elif error_code == 1002:
        return False, "Connection timeout - check network"
    elif error_code == 1003:
        return False, "Protocol error - try different cipher suite"
    else:
        return False, f"Error {error_code}: {error_message}"
