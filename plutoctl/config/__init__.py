"""Loading and validating the config file and its CSV files."""

from plutoctl.config.load import load_config
from plutoctl.config.loaded import LoadedConfig, SourcedName
from plutoctl.config.schema import Config

__all__ = ["Config", "LoadedConfig", "SourcedName", "load_config"]
