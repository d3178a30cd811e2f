"""The SO-101 joints, in bus order, and the dataset feature names LeRobot uses for them."""

JOINTS: tuple[str, ...] = (
    "shoulder_pan",
    "shoulder_lift",
    "elbow_flex",
    "wrist_flex",
    "wrist_roll",
    "gripper",
)
MOTOR_IDS: dict[str, int] = {name: i + 1 for i, name in enumerate(JOINTS)}
JOINT_FEATURE_NAMES: tuple[str, ...] = tuple(f"{j}.pos" for j in JOINTS)
ROBOT_TYPE = "so_follower"
