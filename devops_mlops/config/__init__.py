"""mlops.yaml: found, read once, ``${ENV}``-substituted, validated into typed settings.

The schema is documented in docs/config.md. Its modules: :mod:`.sections` (the project-wide
sections), :mod:`.targets` (a target and what it changes), :mod:`.project` (:class:`Config`, the
whole file and the view a target has of it) and :mod:`.loading` (:func:`load_config`). Every name
is importable from this package, which is how the rest of the toolkit imports them.
"""

from ..config_file import CONFIG_NAME, find_config
from .loading import load_config
from .project import Config
from .sections import (
    AlertCfg,
    AzureDevOpsCfg,
    BotCfg,
    Bound,
    EntryPointsCfg,
    LintCfg,
    MetricRule,
    ModelCfg,
    MonitoringCfg,
    PackageCfg,
    PromotionCfg,
    ScmCfg,
    TestCfg,
    WindowsCfg,
)
from .targets import AdfCfg, ArtifactsCfg, LockCfg, TablesCfg, Target, TargetModelCfg, TargetScmCfg, is_uc_registry

__all__ = [
    "CONFIG_NAME", "AdfCfg", "AlertCfg", "ArtifactsCfg", "AzureDevOpsCfg", "BotCfg", "Bound", "Config",
    "EntryPointsCfg", "LintCfg", "LockCfg", "MetricRule", "ModelCfg", "MonitoringCfg", "PackageCfg", "PromotionCfg",
    "ScmCfg", "TablesCfg", "Target", "TargetModelCfg", "TargetScmCfg", "TestCfg", "WindowsCfg", "find_config",
    "is_uc_registry", "load_config",
]
